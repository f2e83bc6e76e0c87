// Conformance: exports no run().
export const value = 1;
