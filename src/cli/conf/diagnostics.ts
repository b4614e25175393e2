// What every part of the mosquitto.conf reader shares: where a line is, and how a value is read.

export interface ConfDiagnostic {
  file: string;
  line: number;
  message: string;
}

export type Where = { file: string; line: number };

/** Reads one option's arguments, reporting problems against its line. */
export interface OptionReader {
  option: string;
  args: string[];
  where: Where;
  error(message: string): void;
  warn(message: string): void;
  oneArg(): string | undefined;
  integer(min: number, max?: number): number | undefined;
  bool(): boolean | undefined;
  /** The contents of a file named by the option (certificates, keys); an error naming the file when unreadable. */
  fileContents(): Buffer | undefined;
}

export function optionReader(
  option: string,
  args: string[],
  where: Where,
  sink: { errors: ConfDiagnostic[]; warnings: ConfDiagnostic[] },
  readFile: (file: string) => Buffer,
): OptionReader {
  const error = (message: string): void => {
    sink.errors.push({ ...where, message });
  };
  const warn = (message: string): void => {
    sink.warnings.push({ ...where, message });
  };
  const oneArg = (): string | undefined => {
    if (args.length !== 1) {
      error(`option '${option}' takes exactly one value`);
      return undefined;
    }
    return args[0];
  };
  return {
    option,
    args,
    where,
    error,
    warn,
    oneArg,
    integer(min, max = Number.MAX_SAFE_INTEGER) {
      const v = oneArg();
      if (v === undefined) return undefined;
      if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        error(`invalid value '${v}' for '${option}': an integer from ${min} to ${max} is expected`);
        return undefined;
      }
      return Number(v);
    },
    bool() {
      const v = oneArg();
      if (v === undefined) return undefined;
      if (v !== 'true' && v !== 'false') {
        error(`invalid value '${v}' for '${option}': 'true' or 'false' is expected`);
        return undefined;
      }
      return v === 'true';
    },
    fileContents() {
      // A path may contain spaces: Mosquitto takes the rest of the line.
      if (args.length === 0) {
        error(`option '${option}' needs a file name`);
        return undefined;
      }
      const file = args.join(' ');
      try {
        return readFile(file);
      } catch (err) {
        error(`unable to read ${option} '${file}': ${(err as Error).message}`);
        return undefined;
      }
    },
  };
}
