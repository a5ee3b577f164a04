// Moved to src/ports/sending.ts (the port belongs below every layer that uses it); kept for src/store/ and the tests.
export * from '../ports/sending.ts';
