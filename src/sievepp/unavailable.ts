/**
 * Momentum Sieve++ functions smtp-cbv deliberately does not provide, with
 * why (docs/momentum-compatibility.md): a script that calls one gets a
 * compile error saying so, never "unknown test".
 */
const REASONS: ReadonlyArray<[RegExp, string]> = [
  [/^(brightmail|bmi)_/, 'the Symantec Brightmail scanner binding'],
  [/^(clamav|beik|csapi|commtouch|cloudmark|eleven|sophos|mcafee|kaspersky|vade)_/, 'an anti-virus or anti-spam scanner binding'],
  [/^snmp_/, 'SNMP traps'],
  [/^(ec_)?thread_pool_/, "Momentum's thread pool statistics"],
  // ec_dkim_sign is provided (functions/dkim-sign.ts); DomainKeys (RFC 4870) was made historic by DKIM and nothing here signs with it.
  [/^ec_(dk_|dkim_(?!domains$|responsible_domain$|sign$))/, 'DomainKeys signing (RFC 4870, historic: superseded by DKIM, which ec_dkim_sign provides)'],
  [/^ec_(bounce_|rfc3464|mem_usage|host_fingerprint|cluster_(?!cache_(get|set)$)|config|valid_binding|get_message_(code|spool_name)$)/, "Momentum's delivery queue, cluster and host introspection"],
  [/^pe2_|^ec_url_ripper|^fbl_|^seedlist/, 'a Momentum module smtp-cbv does not include'],
];

/** The message for a Momentum name we know and chose not to implement; undefined for anything else. */
export function unavailableMessage(name: string, as: 'command' | 'test'): string | undefined {
  const n = name.toLowerCase();
  for (const [re, what] of REASONS) {
    if (re.test(n)) return `'${name}' is a Momentum ${as} (${what}) that smtp-cbv does not provide; see docs/momentum-compatibility.md`;
  }
  return undefined;
}
