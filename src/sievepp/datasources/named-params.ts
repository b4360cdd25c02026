/**
 * `$name` parameters (sieve-ref-ds-fetch.md: the markers of drivers whose
 * query syntax gives `?` and `:` a meaning, ldap: and cdb:): each replaced
 * by the ds_fetch hash's value of that name, through `escape`. A name
 * without a value is an error, not an empty string: a query that lost its
 * value would ask for what it was not meant to.
 */
const MARKER = /\$([A-Za-z_][A-Za-z0-9_]*)/g;

export function fillNamedParams(text: string, params: Readonly<Record<string, string>>, escape: (value: string) => string = (v) => v, failure: (message: string) => Error = (m) => new Error(m)): string {
  return text.replace(MARKER, (_m, name: string) => {
    const v = params[name];
    if (v === undefined) throw failure(`the query names $${name}, which its parameters do not give`);
    return escape(v);
  });
}
