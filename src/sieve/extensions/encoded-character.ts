/**
 * RFC 5228 2.4.2.4: "${hex:...}" and "${unicode:...}" in strings, decoded
 * at compile time when the script requires "encoded-character".
 */
import type { Extension } from '../registry.js';

export const encodedCharacter: Extension = {
  capability: 'encoded-character',
  onRequire(v) {
    v.decodeEncoded = true;
  },
};
