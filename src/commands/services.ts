/**
 * Services a command may need beyond the store: outbound mail, local delivery, the directory,
 * policies. Each area adds its own optional member here, built once in the composition root
 * (`easd serve`, or a test's server) and handed to every command through CommandContext.
 * A member left unset means the deployment has not configured that service; a command that
 * needs it answers with the status its spec gives for a server-side failure.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}
