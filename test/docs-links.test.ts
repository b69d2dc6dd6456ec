// Every relative link in the README, the changelog and the docs/ pages points to a file that exists and, when it
// names an anchor, to a heading of that page (GitHub's heading ids). External links are not fetched.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pages = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The markdown without its fenced blocks, whose lines are code, not headings or links. */
function unfenced(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** The markdown without fenced blocks and inline code, where a bracket is code, not a link. */
function prose(markdown: string): string {
  return unfenced(markdown).replace(/`[^`\n]*`/g, '');
}

/** The heading ids GitHub gives a page: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, text] of unfenced(markdown).matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const base = text!
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    ids.add(count === 0 ? base : `${base}-${count}`);
  }
  return ids;
}

/** The relative link targets of a page: `[text](target)`, without external URLs. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?: "[^"]*")?\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('links between the README and the docs/ pages', () => {
  it('finds the pages and links to check', () => {
    assert.ok(pages.length >= 10, `pages: ${pages.join(', ')}`);
    assert.ok(pages.flatMap((page) => relativeLinks(readFileSync(join(ROOT, page), 'utf8'))).length >= 30);
  });

  for (const page of pages) {
    it(`${page}: every relative link resolves`, () => {
      const broken: string[] = [];
      for (const link of relativeLinks(readFileSync(join(ROOT, page), 'utf8'))) {
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), path);
        if (!existsSync(target)) {
          broken.push(`${link}: no file ${relative(ROOT, target)}`);
        } else if (anchor !== undefined && !statSync(target).isDirectory() && !anchors(readFileSync(target, 'utf8')).has(anchor)) {
          broken.push(`${link}: no heading #${anchor} in ${relative(ROOT, target)}`);
        }
      }
      assert.deepEqual(broken, []);
    });
  }
});
