/**
 * Momentum datasources (3-reference-modules-ds-core.md): named query
 * back ends that ds_fetch and friends ask. A Datasource answers a query
 * (with `?` placeholders bound to the arguments) with rows of named
 * columns. The implementations are in src/sievepp/datasources/.
 */
export type Row = Readonly<Record<string, string>>;

export interface Datasource {
  /** The rows a query gives, at most `limit`; an error is thrown (the caller turns it into a runtime error). */
  query(query: string, params: readonly string[], limit?: number): Row[] | Promise<Row[]>;
  close?(): void;
}

/** The configured datasources by name. */
export type Datasources = ReadonlyMap<string, Datasource>;
