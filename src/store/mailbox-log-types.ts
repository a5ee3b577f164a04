// Moved to src/ports/mailbox-log.ts (the port belongs below every layer that uses it); kept for src/store/ and the tests.
export * from '../ports/mailbox-log.ts';
