// Moved to src/ports/mail.ts (the port belongs below every layer that uses it); kept for src/store/ and the tests.
export * from '../ports/mail.ts';
