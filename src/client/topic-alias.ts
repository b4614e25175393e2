// Topic aliases (5.0 section 3.3.2.3.4). Both maps belong to one network connection and start empty
// on every new one [MQTT-3.3.2-7].

/** Outbound: topic -> alias, given out while the server's Topic Alias Maximum allows. */
export class OutboundTopicAliases {
  private readonly byTopic = new Map<string, number>();
  private maximum = 0;

  reset(topicAliasMaximum: number): void {
    this.byTopic.clear();
    this.maximum = topicAliasMaximum;
  }

  get topicAliasMaximum(): number {
    return this.maximum;
  }

  /**
   * The alias to send for `topic`, and whether the topic must go with it (first use) or may be
   * left empty. Undefined when no alias is free.
   */
  lookupOrAssign(topic: string): { alias: number; known: boolean } | undefined {
    const alias = this.byTopic.get(topic);
    if (alias !== undefined) return { alias, known: true };
    if (this.byTopic.size >= this.maximum) return undefined;
    const assigned = this.byTopic.size + 1;
    this.byTopic.set(topic, assigned);
    return { alias: assigned, known: false };
  }

  /** Whether `alias` stands for a topic on this connection. */
  isSet(alias: number): boolean {
    for (const a of this.byTopic.values()) if (a === alias) return true;
    return false;
  }

  /** The caller set an alias by hand for this topic: remember it so later sends agree. */
  record(topic: string, alias: number): void {
    for (const [t, a] of this.byTopic) if (a === alias && t !== topic) this.byTopic.delete(t);
    this.byTopic.set(topic, alias);
  }
}

/** Inbound: alias -> topic, as the server sets them; we accept up to our Topic Alias Maximum. */
export class InboundTopicAliases {
  private readonly byAlias = new Map<number, string>();

  constructor(public topicAliasMaximum: number) {}

  reset(): void {
    this.byAlias.clear();
  }

  /**
   * Resolves a PUBLISH's topic. Returns the topic, or the reason code of the protocol violation:
   * 0x94 for an alias of 0 or above our maximum [MQTT-3.3.2-9], [MQTT-3.3.2-10]; 0x82 for an empty
   * topic with an alias never set on this connection.
   */
  resolve(topic: string, alias: number): string | number {
    if (alias === 0 || alias > this.topicAliasMaximum) return 0x94;
    if (topic !== '') {
      this.byAlias.set(alias, topic);
      return topic;
    }
    return this.byAlias.get(alias) ?? 0x82;
  }
}
