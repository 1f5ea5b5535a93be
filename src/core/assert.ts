// An assertion states an invariant of the program: when one fails it is a bug, not an operating
// error, and the node stops loudly rather than carry on wrong (operating errors are ScrypErrors).
export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new AssertionError(`assertion failed: ${message}`);
}
