// How deep a payload may nest: one limit for every codec, decoder and encoder alike, so a value that one side accepts
// the other can always write. It measures; refusing (with which code) is the codec's business.

/** The most arrays and maps a payload may hold one inside another, `[args, kwargs]` included. */
export const MAX_DEPTH = 100;

/**
 * Whether JSON text nests more than `max` arrays or objects, brackets inside strings not counted. Text shorter than
 * `max` cannot, so short payloads, the common case, are not scanned.
 */
export function jsonTooDeep(text: string, max = MAX_DEPTH): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Whether a decoded value nests more than `max` arrays or plain objects; walked without recursion. */
export function valueTooDeep(value: unknown, max = MAX_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) continue;
    if (depth + 1 > max) return true;
    const children = Array.isArray(item) ? item : item instanceof Map ? [...item.values()] : Object.values(item);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/** The message a payload past the limit is refused with. */
export const TOO_DEEP = `nested deeper than ${MAX_DEPTH} levels`;
