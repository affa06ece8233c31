// Telling GitHub's errors apart: HTTP status, GraphQL errors, a ref that moved under the bot.

/** The ref moved between reading and writing it: nothing was written, the caller may re-plan. */
export class RefRaceError extends Error {
  constructor(
    readonly ref: string,
    message: string,
  ) {
    super(message);
    this.name = "RefRaceError";
  }
}

export function statusOf(error: unknown): number | undefined {
  return typeof error === "object" && error !== null && "status" in error && typeof error.status === "number"
    ? error.status
    : undefined;
}

export function isGraphqlError(error: unknown): error is Error & { errors: unknown[] } {
  return error instanceof Error && "errors" in error && Array.isArray(error.errors);
}

export function isUnknownMutation(error: Error & { errors: unknown[] }): boolean {
  return error.errors.some((e) => {
    const { message, extensions } = e as { message?: string; extensions?: { code?: string } };
    return (
      extensions?.code === "undefinedField" ||
      /updateRefs.*doesn't exist|doesn't exist.*updateRefs/.test(message ?? "")
    );
  });
}
