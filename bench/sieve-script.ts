/** A script of realistic policy rules, of at most `bytes` bytes (the parser and start-up benchmarks). */
const rules = [
  (i: number) => `if header :contains ["subject", "x-subject"] ["lottery ${i}", "winner"] {\n  fileinto "Junk";\n  stop;\n}\n`,
  (i: number) => `if allof (address :domain :is "from" "partner${i}.example", not exists "x-spam-flag") {\n  keep;\n}\n`,
  (i: number) => `if envelope :matches "from" "*@bulk${i}.example" {\n  reject text:\nWe do not accept bulk mail (rule ${i}).\n..signed\n.\n;\n}\n`,
  (i: number) => `if size :over ${i % 100}K { discard; } elsif header :regex "received" "from \\\\[10\\\\.${i % 255}\\\\." { redirect "abuse@example.org"; }\n`,
  (i: number) => `# rule ${i}: tagged mail\nif address :localpart :matches "to" "*+tag${i}" { set "folder" "\${1}"; fileinto "lists/\${folder}"; }\n`,
  (i: number) => `$from${i} = envelope :domain "from";\nif ec_test :is "\${from${i}}" "spam${i}.example" { ec_action 550 "5.7.1 no"; }\n`,
];

export function buildScript(bytes: number): string {
  const parts = ['require ["fileinto", "reject", "envelope", "regex", "variables", "relational"];\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const rule = rules[i % rules.length]!(i);
    if (size + rule.length > bytes) break;
    parts.push(rule);
    size += rule.length;
  }
  return parts.join('');
}
