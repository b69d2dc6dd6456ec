// How deep a payload may nest: one limit for every codec, decoder and encoder alike, so a value that one side accepts
// the other can always write. It measures; refusing (with which code) is the codec's business.

/** The most arrays and maps a payload may hold one inside another, `[args, kwargs]` included. */
export const MAX_DEPTH = 100;

/**
 * Whether JSON text nests more than `max` arrays or objects, brackets inside strings not counted. Text shorter than
 * `max` cannot, so short payloads, the common case, are not scanned; a string is skipped whole (indexOf finds its end).
 */
export function jsonTooDeep(text: string, max = MAX_DEPTH): boolean {
  if (text.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) i = closingQuote(text, i);
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Where the string opened at `open` ends: its closing quote, the first one after an even run of backslashes (or the text's end). */
function closingQuote(text: string, open: number): number {
  for (let at = text.indexOf('"', open + 1); at !== -1; at = text.indexOf('"', at + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(at - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
  return text.length;
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

/**
 * Whether JSON.stringify writes a value within `max` levels, as far as the value shows it: false for one that reaches
 * past them, and for one holding a toJSON (what that writes is known only once written), whose text is measured instead.
 * It may count a level JSON would not write (a boxed number, bytes), never fewer than it writes.
 */
export function jsonWithin(value: unknown, max = MAX_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return true;
  const items: object[] = [value];
  const depths = [1];
  while (items.length > 0) {
    const item = items.pop() as Record<string, unknown>;
    const depth = depths.pop()!;
    if (depth > max || typeof item.toJSON === 'function') return false;
    // Bytes are written as one string, or as one object of numbers: a level at most, with nothing below it to walk.
    if (ArrayBuffer.isView(item)) continue;
    const children: unknown[] = Array.isArray(item) ? item : Object.values(item);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (typeof child === 'object' && child !== null) {
        items.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return true;
}

/** The message a payload past the limit is refused with. */
export const TOO_DEEP = `nested deeper than ${MAX_DEPTH} levels`;
