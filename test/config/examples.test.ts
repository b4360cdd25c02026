import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, referencedScripts } from '../../src/config/index.js';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

describe('examples', () => {
  const bound: Record<string, string[]> = {
    'smtp-cbv.conf': ['mailfrom_phase1', 'rcptto_phase1', 'data_phase1'],
    'momentum.conf': ['mailfrom_phase1', 'data_phase1'],
  };
  for (const name of ['smtp-cbv.conf', 'momentum.conf']) {
    it(`${name} loads without diagnostics, and the scripts it names exist`, async () => {
      const r = await loadConfig(example(name));
      expect(r.diagnostics).toEqual([]);
      expect(r.config).not.toBeNull();
      const scripts = referencedScripts(r.config!);
      expect(scripts.map((s) => `${s.phase}_phase${s.order}`)).toEqual(bound[name]);
      for (const s of scripts) expect(fs.existsSync(s.path), s.path).toBe(true);
    });
  }

  it('smtp-cbv.conf (npm start) listens on 127.0.0.1:2525 with CBV at MAIL FROM', async () => {
    const { config } = await loadConfig(example('smtp-cbv.conf'));
    expect(config?.listeners.map((l) => `${l.host}:${l.port}`)).toEqual(['127.0.0.1:2525']);
    expect(config?.smtpCbv).toMatchObject({ enabled: true, phase: 'mailfrom', mailfrom: '', map: { 'yahoo.net': 'yahoo.com' } });
    expect(config?.spoolDir).toBe(example('var/spool'));
    expect(config?.logging).toEqual({ level: 'info', pretty: true });
  });

  it('momentum.conf gives the peer context from the Momentum listener block', async () => {
    const { config } = await loadConfig(example('momentum.conf'));
    expect(config?.listeners[0]?.peers).toEqual([
      expect.objectContaining({ cidr: '0.0.0.0/0', context: { __bypass_smtp_cbv: 'false' } }),
    ]);
  });
});
