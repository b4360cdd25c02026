/**
 * RFC 3894: the :copy tag on redirect and fileinto. The tag owns its
 * effect: the action is taken without cancelling the implicit keep (the
 * commands never look for the tag; their action definitions read `copy`).
 */
import type { Extension } from '../registry.js';

export const copy: Extension = {
  capability: 'copy',
  attachTags: [
    {
      commands: ['redirect', 'fileinto'],
      tag: {
        name: 'copy',
        effect(a) {
          a.copy = true;
        },
      },
    },
  ],
};
