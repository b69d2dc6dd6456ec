// MessagePack as the floors write it with @msgpack/msgpack: one encoder and decoder for the process (the library's
// encode() and decode() make new ones on every call) and the Content-Type header encoded once. Not the mesh's codec.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { fixedHeaders } from './fixed-headers.ts';

export const MSGPACK_TYPE = 'application/msgpack';
export const floorMsgpack = { encoder: new Encoder(), decoder: new Decoder() };
export const MSGPACK_HEADERS = fixedHeaders({ 'Content-Type': MSGPACK_TYPE });
