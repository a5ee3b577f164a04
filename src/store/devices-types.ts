// Moved to src/ports/devices.ts (the port belongs below every layer that uses it); kept for src/store/ and the tests.
export * from '../ports/devices.ts';
