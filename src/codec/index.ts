// The MQTT packet codec: see docs/architecture.md, section src/codec.
export * from './types';
export { encode, encodedLength } from './encode';
export { PacketDecoder, MAX_PACKET_SIZE } from './decoder';
export type { PacketDecoderOptions } from './decoder';
export { ProtocolError } from './protocol-error';
export { ReasonCode, ConnackReturnCode, reasonCodeName } from './reason-codes';
export type { ReasonCodeName } from './reason-codes';
export { propertyTable, WireType } from './properties';
export type { PropertyDefinition } from './properties';
export { PublishEncoding } from './publish-encoding';
export type { PublishMessage, PublishRecipient } from './publish-encoding';
export { validatePayloadFormat } from './payload-format';
