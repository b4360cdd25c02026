/**
 * The registry built from the one array of extensions: look-ups by
 * capability, command name, tag, match type, comparator and address part.
 * Built once per extension list; validation asks it what a name means.
 */
import type { AddressPart } from './runtime/address-parts.js';
import type { Comparator } from './match/comparators.js';
import type { MatchType } from './match/match-types.js';
import type { CommandDef, Extension, TagSpec } from './registry.js';

export interface Owned<T> {
  ext: Extension;
  def: T;
}

export class ExtensionRegistry {
  readonly byCapability = new Map<string, Extension>();
  readonly commands = new Map<string, Owned<CommandDef>>();
  readonly attached = new Map<string, Array<Owned<TagSpec>>>();
  readonly matchTypes = new Map<string, Owned<MatchType>>();
  readonly comparators = new Map<string, Owned<Comparator>>();
  readonly addressParts = new Map<string, Owned<AddressPart>>();

  constructor(readonly extensions: readonly Extension[]) {
    for (const ext of extensions) {
      if (this.byCapability.has(ext.capability)) throw new Error(`extension '${ext.capability}' registered twice`);
      this.byCapability.set(ext.capability, ext);
      for (const def of ext.commands ?? []) this.add(this.commands, def.name, ext, def, 'command');
      for (const def of ext.matchTypes ?? []) this.add(this.matchTypes, def.name, ext, def, 'match type');
      for (const def of ext.comparators ?? []) this.add(this.comparators, def.name, ext, def, 'comparator');
      for (const def of ext.addressParts ?? []) this.add(this.addressParts, def.name, ext, def, 'address part');
      for (const a of ext.attachTags ?? []) {
        for (const c of a.commands) {
          const list = this.attached.get(c) ?? [];
          list.push({ ext, def: a.tag });
          this.attached.set(c, list);
        }
      }
    }
  }

  /** A feature is registered in exactly one place: a second registration is a programming error. */
  private add<T>(map: Map<string, Owned<T>>, name: string, ext: Extension, def: T, what: string): void {
    if (map.has(name)) throw new Error(`${what} '${name}' registered by both '${map.get(name)!.ext.capability}' and '${ext.capability}'`);
    map.set(name, { ext, def });
  }

  /** The capabilities a script may `require`, for `ihave` and for listing. */
  capabilities(): string[] {
    return [...this.byCapability.keys()].filter((c) => c !== '' && !this.byCapability.get(c)!.hidden);
  }
}
