// Reads the auth files (API keys, policy) written as JSON or YAML: YAML 1.2 reads both, so one parser does.
// Validating what the file says is its reader's job.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** The file's value; an unreadable or unparsable file throws an Error naming the setting and the file. */
export function readStructuredFile(file: string, setting: string): unknown {
  try {
    return parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${setting} ${file}: ${(err as Error).message}`, { cause: err });
  }
}
