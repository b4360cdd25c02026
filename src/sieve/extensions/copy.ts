/**
 * RFC 3894: the :copy tag on redirect and fileinto. The action is taken
 * without cancelling the implicit keep; the commands read the tag.
 */
import type { Extension } from '../registry.js';

export const copy: Extension = {
  capability: 'copy',
  attachTags: [{ commands: ['redirect', 'fileinto'], tag: { name: 'copy' } }],
};
