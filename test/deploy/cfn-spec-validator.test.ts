import { describe, expect, it } from 'vitest';
import { validateTemplate } from './helpers/cfn-spec-validator.js';
import { parseCfnYaml } from './helpers/cfn-yaml.js';

/** A small valid SAM template; each test breaks one thing in it. */
const VALID = `
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Size:
    Type: Number
    Default: 128
  Mode:
    Type: String
    Default: a
    AllowedValues: [a, b]
Conditions:
  IsB: !Equals [!Ref Mode, b]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: index.handler
      Runtime: nodejs22.x
      MemorySize: !Ref Size
      Timeout: 3
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
      LoggingConfig:
        LogGroup: fn-logs
        LogFormat: Text
      Environment:
        Variables:
          A: !If [IsB, x, !Ref AWS::NoValue]
  Perm:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref Fn
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub 'arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${Fn}/*'
Outputs:
  Arn:
    Value: !GetAtt Fn.Arn
`;

function issuesAfter(from: string, to: string): { path: string; message: string }[] {
  expect(VALID).toContain(from);
  return validateTemplate(parseCfnYaml(VALID.replace(from, to)));
}

describe('validateTemplate', () => {
  it('accepts the valid fixture (so every failure below comes from the one change)', () => {
    // Prepare
    const template = parseCfnYaml(VALID);

    // Act
    const issues = validateTemplate(template);

    // Assess
    expect(issues).toEqual([]);
  });

  it('catches an unknown property', () => {
    // Prepare, Act
    const issues = issuesAfter('Timeout: 3', 'TimeoutSeconds: 3');

    // Assess
    expect(issues).toEqual([
      {
        path: 'Resources.Fn.Properties.TimeoutSeconds',
        message: 'unknown property "TimeoutSeconds"',
      },
    ]);
  });

  it('catches a literal of the wrong type, in a nested property type too', () => {
    // Prepare, Act
    const top = issuesAfter('Timeout: 3', 'Timeout: [3]');
    const nested = issuesAfter(
      '          A: !If [IsB, x, !Ref AWS::NoValue]\n',
      '          A: { x: 1 }\n',
    );

    // Assess
    expect(top).toEqual([
      { path: 'Resources.Fn.Properties.Timeout', message: 'expected a number, got a list' },
    ]);
    expect(nested).toEqual([
      {
        path: 'Resources.Fn.Properties.Environment.Variables.A',
        message: 'expected a string, got an object',
      },
    ]);
  });

  it('catches a value outside the allowed values of a pass-through property (TenancyConfig)', () => {
    // Prepare, Act
    const issues = issuesAfter('TenantIsolationMode: PER_TENANT', 'TenantIsolationMode: PER_KEY');

    // Assess
    expect(issues).toEqual([
      {
        path: 'Resources.Fn.Properties.TenancyConfig.TenantIsolationMode',
        message: '"PER_KEY" is not one of PER_TENANT',
      },
    ]);
  });

  it('types the LoggingConfig pass-through from AWS::Lambda::Function (a misspelt field, a bad format)', () => {
    // Prepare, Act
    const misspelt = issuesAfter('LogGroup: fn-logs', 'LogGroupName: fn-logs');
    const badFormat = issuesAfter('LogFormat: Text', 'LogFormat: XML');

    // Assess
    expect(misspelt).toEqual([
      {
        path: 'Resources.Fn.Properties.LoggingConfig.LogGroupName',
        message: 'unknown property "LogGroupName"',
      },
    ]);
    expect(badFormat.map((i) => i.path)).toEqual([
      'Resources.Fn.Properties.LoggingConfig.LogFormat',
    ]);
  });

  it('checks both branches of an Fn::If against the property type', () => {
    // Prepare, Act
    const issues = issuesAfter('A: !If [IsB, x, !Ref AWS::NoValue]', 'A: !If [IsB, x, [y]]');

    // Assess
    expect(issues).toEqual([
      {
        path: 'Resources.Fn.Properties.Environment.Variables.A',
        message: 'expected a string, got a list',
      },
    ]);
  });

  it('catches a dangling Ref, a dangling ${} in Fn::Sub and an unknown GetAtt attribute', () => {
    // Prepare, Act
    const ref = issuesAfter('FunctionName: !Ref Fn', 'FunctionName: !Ref Function');
    const sub = issuesAfter(':${Fn}/*', ':${Api}/*');
    const getAtt = issuesAfter('!GetAtt Fn.Arn', '!GetAtt Fn.FunctionArn');

    // Assess
    expect(ref.map((i) => i.message)).toEqual([
      'Ref to "Function", which is neither a parameter, a resource nor a pseudo parameter',
    ]);
    expect(sub.map((i) => i.message)).toEqual([
      'Ref to "Api", which is neither a parameter, a resource nor a pseudo parameter',
    ]);
    expect(getAtt.map((i) => i.message)).toEqual([
      'Fn::GetAtt Fn.FunctionArn: AWS::Lambda::Function has no attribute "FunctionArn"',
    ]);
  });

  it('catches a missing required property', () => {
    // Prepare, Act
    const issues = issuesAfter('      Principal: apigateway.amazonaws.com\n', '');

    // Assess
    expect(issues).toEqual([
      { path: 'Resources.Perm.Properties', message: 'required property "Principal" is missing' },
    ]);
  });

  it('catches an unknown resource type, an undeclared condition and a missing SAM transform', () => {
    // Prepare, Act
    const type = issuesAfter('AWS::Lambda::Permission', 'AWS::Lambda::Permisson');
    const condition = issuesAfter('!If [IsB,', '!If [IsC,');
    const transform = issuesAfter('Transform: AWS::Serverless-2016-10-31\n', '');

    // Assess
    expect(type.map((i) => i.message)).toEqual(['unknown resource type "AWS::Lambda::Permisson"']);
    expect(condition.map((i) => i.message)).toEqual([
      'condition "IsC" is not declared in Conditions',
    ]);
    expect(transform.map((i) => i.message)).toEqual([
      'AWS::Serverless::* resources need Transform: AWS::Serverless-2016-10-31',
    ]);
  });

  it('catches a parameter default outside its allowed values and an unknown parameter type', () => {
    // Prepare, Act
    const allowed = issuesAfter('Default: a', 'Default: c');
    const type = issuesAfter('Type: Number', 'Type: Integer');

    // Assess
    expect(allowed.map((i) => i.message)).toEqual(['Default "c" is not one of AllowedValues']);
    expect(type.map((i) => i.message)).toEqual(['unknown parameter type "Integer"']);
  });
});
