/** Fixtures shared by unit tests, integration tests and benchmarks (never imported by app code). */
export * from './fixtures.js';
