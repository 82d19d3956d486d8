/**
 * One CSV cell, safe to open in a spreadsheet: always quoted, and a leading = + - @ (a formula
 * someone could type into chat or a policy) neutralised with an apostrophe.
 */
export const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
};
