// Connection strings in messages and names: the password never leaves the process.

/** The URL with the password of its userinfo replaced by `***` (redis://u:***@host). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
