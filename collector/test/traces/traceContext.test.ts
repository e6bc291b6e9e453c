import { parseTraceparent } from '../../src/traces/traceContext';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it.each([
    [`00-${TRACE}-${SPAN}-01`, true],
    [`00-${TRACE}-${SPAN}-00`, false],
    [`  00-${TRACE}-${SPAN}-03 `, true],
    [`01-${TRACE}-${SPAN}-01-future-fields`, true], // a later version may append fields
  ])('reads %j', (header, sampled) => {
    expect(parseTraceparent(header)).toEqual({ traceId: TRACE, parentSpanId: SPAN, sampled });
  });

  it.each([
    ['missing', null],
    ['empty', ''],
    ['uppercase hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with more fields', `00-${TRACE}-${SPAN}-01-extra`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['an all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['a short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['markup', '<script>alert(1)</script>'],
  ])('ignores %s', (_what, header) => {
    expect(parseTraceparent(header)).toBeNull();
  });
});
