// Masks the password of every URL in a text (`nats://bob:<password>@host`, `postgres://app:<password>@db/app`) before
// it is printed: `mesh config`, CLI errors, start-up and fatal logs all use this one function. It hides; it does not log.

/** What a masked secret reads as. */
export const MASK = '********';

/** The password in a URL's user info, up to its last @, in each URL of a comma-separated list. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s,]*:)[^\s,]*@/gi;

/** The text with the password of each URL in it replaced by MASK. */
export function maskUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${MASK}@`);
}
