/** Exit codes, the contract CI scripts rely on. */
export const EXIT = {
  ok: 0,
  /** A scenario failed. */
  failed: 1,
  /** Input errors: parse, validation, YAML, usage. */
  input: 2,
  /** A bug in svcspec. */
  internal: 3,
  /** The reader closed the output early (`… | head`): the status of a command SIGPIPE ended (128 + 13). */
  closedOutput: 141,
} as const;
