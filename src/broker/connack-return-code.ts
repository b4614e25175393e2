// Refusing a 3.1.1 client with a 5.0 reason code: 3.1.1 has return codes for a few reasons only.

/** 3.1.1 CONNACK return code for a 5.0 reason code, where one exists (section 3.2.2.3). */
export function connackReturnCode(reasonCode: number): number | undefined {
  switch (reasonCode) {
    case 0x00:
      return 0;
    case 0x84:
      return 1;
    case 0x85:
      return 2;
    case 0x88:
    case 0x89:
    case 0x97:
      return 3;
    case 0x86:
      return 4;
    case 0x87:
    case 0x8a:
    case 0x8c:
      return 5;
    default:
      return undefined;
  }
}
