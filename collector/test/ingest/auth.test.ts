import { BearerToken } from '../../src/ingest/auth';

describe('BearerToken', () => {
  it.each([
    ['Bearer s3cret', true],
    ['bearer s3cret', true],
    ['Bearer  s3cret ', true],
    ['Bearer s3cre', false],
    ['Bearer s3cret2', false],
    ['s3cret', false],
    ['Basic s3cret', false],
    ['', false],
    [undefined, false],
  ])('judges Authorization %j as %s', (header, accepted) => {
    expect(new BearerToken('s3cret').accepts(header)).toBe(accepted);
  });
});
