import { describe, expect, it } from 'vitest';
import { parseCfnYaml } from './helpers/cfn-yaml.js';

describe('parseCfnYaml', () => {
  it('turns every short-form intrinsic into its long form, nested ones included', () => {
    // Prepare
    const text = [
      'A: !Ref Param',
      'B: !GetAtt Cache.Endpoint.Address',
      "C: !Sub 'arn:${AWS::Partition}:x'",
      'D: !If [IsProd, !Ref Big, !Ref AWS::NoValue]',
      "E: !Join ['', [a, !Sub 'b${Param}']]",
      "F: !Select [0, !GetAZs '']",
      'G: !Not [!Equals [!Ref Param, x]]',
      'H: !And [!Condition C1, !Or [!Condition C2, !Condition C3]]',
      'I: !Base64 { "Fn::Sub": "x" }',
      "J: !Split [',', !ImportValue Shared]",
      'K: !FindInMap [M, !Ref AWS::Region, Ami]',
    ].join('\n');

    // Act
    const tree = parseCfnYaml(text);

    // Assess
    expect(tree).toEqual({
      A: { Ref: 'Param' },
      B: { 'Fn::GetAtt': ['Cache', 'Endpoint.Address'] },
      C: { 'Fn::Sub': 'arn:${AWS::Partition}:x' },
      D: { 'Fn::If': ['IsProd', { Ref: 'Big' }, { Ref: 'AWS::NoValue' }] },
      E: { 'Fn::Join': ['', ['a', { 'Fn::Sub': 'b${Param}' }]] },
      F: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      G: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Param' }, 'x'] }] },
      H: {
        'Fn::And': [{ Condition: 'C1' }, { 'Fn::Or': [{ Condition: 'C2' }, { Condition: 'C3' }] }],
      },
      I: { 'Fn::Base64': { 'Fn::Sub': 'x' } },
      J: { 'Fn::Split': [',', { 'Fn::ImportValue': 'Shared' }] },
      K: { 'Fn::FindInMap': ['M', { Ref: 'AWS::Region' }, 'Ami'] },
    });
  });

  it('fails on a tag CloudFormation does not define instead of reading it as text', () => {
    // Prepare
    const text = 'A: !Reff Param';

    // Act
    const parse = (): unknown => parseCfnYaml(text);

    // Assess
    expect(parse).toThrow(/Unresolved tag: !Reff/);
  });

  it('fails on a duplicated key (YAML keeps the last one silently otherwise)', () => {
    // Prepare
    const text = 'Resources:\n  A: 1\n  A: 2\n';

    // Act
    const parse = (): unknown => parseCfnYaml(text);

    // Assess
    expect(parse).toThrow(/unique/i);
  });
});
