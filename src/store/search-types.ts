// Moved to src/ports/search.ts (the port belongs below every layer that uses it); kept for src/store/ and the tests.
export * from '../ports/search.ts';
