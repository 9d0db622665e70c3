import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  FUNCTIONS_FILE_DEFAULTS,
  FunctionSettingsSchema,
  GatewayFunctionSettingsSchema,
  UNDECLARED_FUNCTION_SETTINGS,
  functionSettingsOf,
} from '../../src/config/function-settings.js';
import { FunctionSettingsSchema as ConfigFunctionSettingsSchema } from '../../src/config/schema.js';

describe('function settings', () => {
  it('the gateway config and the functions file share one schema', () => {
    // Assess
    expect(ConfigFunctionSettingsSchema).toBe(FunctionSettingsSchema);
  });

  it('both sets of defaults are valid settings', () => {
    // Assess
    expect(Value.Check(FunctionSettingsSchema, FUNCTIONS_FILE_DEFAULTS)).toBe(true);
    expect(Value.Check(FunctionSettingsSchema, UNDECLARED_FUNCTION_SETTINGS)).toBe(true);
    expect(Object.isFrozen(FUNCTIONS_FILE_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(UNDECLARED_FUNCTION_SETTINGS)).toBe(true);
  });

  it('an undeclared function gets the bounds that cannot cut it short or overprice it', () => {
    // Prepare: the schema's own bounds, so the reason stays true if they move.
    const { timeoutSeconds, memoryMb } = FunctionSettingsSchema.properties;
    const undeclared = UNDECLARED_FUNCTION_SETTINGS;

    // Assess: the longest timeout and the smallest memory a function can have.
    expect(Value.Check(timeoutSeconds, undeclared.timeoutSeconds)).toBe(true);
    expect(Value.Check(timeoutSeconds, undeclared.timeoutSeconds + 0.001)).toBe(false);
    expect(Value.Check(memoryMb, undeclared.memoryMb)).toBe(true);
    expect(Value.Check(memoryMb, undeclared.memoryMb - 1)).toBe(false);
    expect(UNDECLARED_FUNCTION_SETTINGS.tenancy).toBe('PER_TENANT');
  });

  it("the functions file's defaults are Lambda's CreateFunction defaults, tenancy opt-in", () => {
    // Assess
    expect(FUNCTIONS_FILE_DEFAULTS).toEqual({ timeoutSeconds: 3, memoryMb: 128, tenancy: 'NONE' });
  });

  it('functionSettingsOf keeps only the settings, which the config schema then accepts', () => {
    // Prepare
    const definitions = [
      {
        name: 'f',
        codeDir: '/code',
        handler: 'index.handler',
        timeoutSeconds: 2.5,
        memoryMb: 256,
        tenancy: 'NONE' as const,
        reservedConcurrency: 3,
        environment: { A: 'x' },
      },
    ];

    // Act
    const settings = functionSettingsOf(definitions);

    // Assess
    // reservedConcurrency stays: the gateway's tenant-environment budget derives its cap from it, as the host does.
    expect(settings).toEqual({
      f: { timeoutSeconds: 2.5, memoryMb: 256, tenancy: 'NONE', reservedConcurrency: 3 },
    });
    expect(Value.Check(GatewayFunctionSettingsSchema, settings['f'])).toBe(true);
  });
});
