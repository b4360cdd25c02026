import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/server/logger.js';

describe('createLogger', () => {
  it('takes the level from the settings, and LOG_LEVEL over them', () => {
    expect(createLogger({ level: 'warn' }, {}).level).toBe('warn');
    expect(createLogger({ level: 'warn' }, { LOG_LEVEL: 'debug' }).level).toBe('debug');
    expect(createLogger({}, { LOG_LEVEL: 'nonsense' }).level).toBe('info');
  });
});
