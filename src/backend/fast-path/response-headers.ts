/**
 * Reading an Invoke answer's headers from undici's raw list (name, value,
 * name, value, … as received, each a Buffer), decoded as undici's own
 * `parseHeaders` decodes them (latin1, names lower-cased, a repeated header's
 * values joined with ", " as `IncomingHttpHeaders` arrays were). A 2xx answer
 * needs three headers; parsing all of them into an object per request was
 * measured at ~3 µs of the gateway's CPU, so only those three are decoded.
 */

export interface InvokeHeaders {
  readonly functionError: string | undefined;
  readonly logResult: string | undefined;
  readonly executedVersion: string | undefined;
}

function headerName(raw: Buffer): string {
  return raw.toString('latin1').toLowerCase();
}

function joined(before: string | undefined, value: string): string {
  return before === undefined ? value : `${before}, ${value}`;
}

/** `X-Amz-Function-Error`, `X-Amz-Log-Result`, `X-Amz-Executed-Version`: what a 2xx answer carries. */
export function invokeHeaders(raw: readonly Buffer[]): InvokeHeaders {
  let functionError: string | undefined;
  let logResult: string | undefined;
  let executedVersion: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const nameBytes = raw[i] as Buffer;
    // The three names are 20, 16 and 22 bytes long: other lengths are not decoded at all.
    const length = nameBytes.length;
    if (length !== 16 && length !== 20 && length !== 22) continue;
    const name = headerName(nameBytes);
    if (name === 'x-amz-function-error')
      functionError = joined(functionError, (raw[i + 1] as Buffer).toString('latin1'));
    else if (name === 'x-amz-log-result')
      logResult = joined(logResult, (raw[i + 1] as Buffer).toString('latin1'));
    else if (name === 'x-amz-executed-version')
      executedVersion = joined(executedVersion, (raw[i + 1] as Buffer).toString('latin1'));
  }
  return { functionError, logResult, executedVersion };
}

/** Every header, for the SDK's error deserializer (an error answer: rare, so all of them). */
export function allHeaders(raw: readonly Buffer[]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = headerName(raw[i] as Buffer);
    // Assigning it would set the object's prototype, not a header: it never reached the SDK before either.
    if (name === '__proto__') continue;
    // Own properties only: a header named `constructor` must not join onto Object's.
    const before = Object.hasOwn(flat, name) ? flat[name] : undefined;
    flat[name] = joined(before, (raw[i + 1] as Buffer).toString('latin1'));
  }
  return flat;
}
