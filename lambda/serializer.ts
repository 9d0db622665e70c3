/** How a key's in-memory state becomes bytes in a snapshot and back. */
export interface Serializer<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

/** The default: UTF-8 JSON. State must be JSON-representable. */
export function jsonSerializer<T>(): Serializer<T> {
  return {
    serialize: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    deserialize: (bytes) => JSON.parse(bytes.toString('utf8')) as T,
  };
}
