// What the broker and the dealer see of a session: its id, its serializer and a way to send it messages.
// The session implements it; keeping the interface here lets broker and dealer not know about sockets.
import type { Identity } from '../mesh/gateway.ts';
import type { Serializer } from './serializer.ts';

export interface Peer {
  /** The WAMP session id, in [1, 2^53]. */
  readonly id: number;
  readonly serializer: Serializer;
  /** The authid WELCOME gave the session. */
  readonly authid: string;
  /** Every role of the session's identity (WELCOME's authrole is the first). */
  readonly authroles: readonly string[];
  /** WELCOME's authrole. */
  readonly authrole: string;
  /** Who the session is, for the policy; undefined when nothing is configured. */
  readonly identity: Identity | undefined;
  /** False once the session has ended: sends are dropped. */
  readonly open: boolean;
  /**
   * Encodes and sends one message; false when the session's serializer cannot encode it (logged under an error id),
   * so that the sender can answer otherwise. It never throws.
   */
  send(message: unknown[]): boolean;
  /** Sends a frame already encoded with this peer's serializer (a shared EVENT). */
  sendFrame(frame: Buffer): void;
  /** The peer broke the protocol: ABORT with wamp.error.protocol_violation, and the session ends. */
  violate(reason: string): void;
}
