import { describe, expect, it } from 'vitest';
import { redactPii } from './pii';

/** [input, expected text after redaction]. */
const mustRedactEmails: Array<[string, string]> = [
  ['Write to jane.doe@example.com today.', 'Write to [email] today.'],
  ['jane+newsletter@example.com', '[email]'],
  ['ops@mail.eu-west.corp.example.co.uk, thanks', '[email], thanks'],
  ['<a href="mailto:info@example.org">info@example.org</a>', '<a href="mailto:[email]">[email]</a>'],
  ['Contact: José.García@correo.españa.es.', 'Contact: [email].'],
  ['用户@例子.广告 or пользователь@пример.рф', '[email] or [email]'],
  ['user@xn--80ak6aa92e.com and a@b.xn--p1ai', '[email] and [email]'],
  ['(first_last-99%x@sub.example.io)', '([email])'],
  ['two: a@example.com,b@example.net', 'two: [email],[email]'],
  ['UPPER.Case@Example.COM', '[email]'],
];

const mustRedactPhones: Array<[string, string]> = [
  ['Call +44 20 7946 0958 now', 'Call [phone] now'],
  ['Tel: (555) 123-4567.', 'Tel: [phone].'],
  ['555.123.4567', '[phone]'],
  ['+1-555-123-4567', '[phone]'],
  ['Appelez le 01 23 45 67 89 !', 'Appelez le [phone] !'],
  ['ou le 01.23.45.67.89.', 'ou le [phone].'],
  ['+33 (0)1 23 45 67 89', '[phone]'],
  ['+33 1 23 45 67 89', '[phone]'],
  ['020 7946 0958', '[phone]'],
  ['07700 900123', '[phone]'],
  ['1-800-555-0199', '[phone]'],
  ['a 1.555.123.4567 b', 'a [phone] b'],
  ['1 (800) 555-0199', '[phone]'],
  ['555-123-4567', '[phone]'],
  ['555 123 4567', '[phone]'],
  ['+14155552671', '[phone]'],
  ['+49 30 12345678', '[phone]'],
  ['030 12345678', '[phone]'],
  ['Tél.\u00a001\u00a023\u00a045\u00a067\u00a089', 'Tél.\u00a0[phone]'],
  ['phone:+1 555 123 4567;fax:+1 555 123 4568', 'phone:[phone];fax:[phone]'],
  ['Room 12 555-123-4567', 'Room 12 [phone]'],
  ['call (555) 123-4567 or 555.987.6543', 'call [phone] or [phone]'],
];

/** Numbers and addresses that look a little like PII and must come out unchanged. */
const mustKeep: string[] = [
  'In 2026 and 1999, from 1999 to 2004, 1999-2004',
  'Published 2026-11-28 at 10:42:07, updated 28.11.2026, 11/28/2026, 28/11/26',
  'Prices: $1,234.56, €1 234 567, 1 234 567,89 €, £4.99, $555 123 4567',
  'ISBN 978-3-16-148410-0, ISBN 0-306-40615-2, 978 0 306 40615 7, 9780306406157',
  'version 1.2.3, v10.0.19041.1, 2.0.0-beta.1, node@20.19.0, lodash@4.17.21',
  'ZIP 90210, 90210-1234, 75001 Paris, SW1A 1AA',
  'order id 1234567890123, 5551234567, 00123456789, ref 20261128104207',
  'IP 192.168.1.10, 10.0.0.1, 010.001.002.003, 2001:db8::1',
  'coordinates 48.8566, 2.3522 and -33.8688 151.2093, 40.7128° N 74.0060° W',
  'card 4111 1111 1111 1111, IBAN FR76 3000 6000 0112 3456 7890 189',
  'score 3-1, pages 555-567, 2+2=4, 1e10, 12:30-14:00, 100%',
  'uuid 123e4567-e89b-12d3-a456-426614174000, hash 5d41402abc4b2a76b9719d911017c592',
  '12,555 123 4567, x555-123-4567, 555-123-4567x, #555-123-4567',
  'the @handle, user@localhost, a@b, name@host.c, @example.com, x@.com, x@-a.com',
  'footnote@1.2, git@10.0.0.1, email me at [email] or [phone]',
  '0 800 123 4567, 0-306-40615-2, 01-02-2026, 12 555 123 4567',
  '+1 234, +33 1, a+123456789',
];

describe('redactPii', () => {
  it.each(mustRedactEmails)('redacts the e-mail address in %j', (input, expected) => {
    const result = redactPii(input);
    expect(result.text).toBe(expected);
    expect(result.emails).toBe(expected.split('[email]').length - 1);
    expect(result.phones).toBe(0);
  });

  it.each(mustRedactPhones)('redacts the phone number in %j', (input, expected) => {
    const result = redactPii(input);
    expect(result.text).toBe(expected);
    expect(result.phones).toBe(expected.split('[phone]').length - 1);
    expect(result.emails).toBe(0);
  });

  it.each(mustKeep)('keeps %j', (input) => {
    expect(redactPii(input)).toEqual({ text: input, emails: 0, phones: 0 });
  });

  it('redacts an e-mail address before its digits can pass for a phone number', () => {
    expect(redactPii('john.555.123.4567@example.com')).toEqual({ text: '[email]', emails: 1, phones: 0 });
  });

  it('is idempotent: a redacted text has nothing left to redact', () => {
    const text = [...mustRedactEmails, ...mustRedactPhones].map(([input]) => input).join('\n');
    const once = redactPii(text);
    expect(once.emails).toBe(mustRedactEmails.reduce((sum, [, out]) => sum + out.split('[email]').length - 1, 0));
    expect(redactPii(once.text)).toEqual({ text: once.text, emails: 0, phones: 0 });
  });

  // Pathological 1 MB inputs for each scanner: a quadratic scanner would need minutes (10^12 steps) on
  // them and run into the test timeout; the durations are logged for the report, not asserted.
  const megabyte = 1 << 20;
  const fill = (unit: string) => unit.repeat(Math.ceil(megabyte / unit.length)).slice(0, megabyte);
  const pathological: Array<[string, string]> = [
    ['letters then @', `${fill('a')}@`],
    ['@ then a domain that never ends', `@${fill('a.')}`],
    ['local part dots', `${fill('a.')}@x`],
    ['many @', fill('a@')],
    ['@ alone', fill('@')],
    ['almost e-mails', fill('a@b.')],
    ['unicode letters then @', `${fill('é')}@`],
    ['e-mails back to back', fill('a@b.co ')],
    ['one long digit run', fill('1')],
    ['digit groups joined by spaces', fill('1 ')],
    ['digit groups joined by dashes', fill('12-')],
    ['trunk-zero groups', fill('01 ')],
    ['plus signs and digits', fill('+1 ')],
    ['parentheses', fill('(555) ')],
    ['phones back to back', fill('555-123-4567 ')],
  ];

  it.each(pathological)('redacts 1 MB of %s in linear time', (name, input) => {
    const start = performance.now();
    const result = redactPii(input);
    const milliseconds = performance.now() - start;
    console.info(`redactPii, 1 MB of ${name}: ${milliseconds.toFixed(0)} ms`);
    expect(result.text.length).toBeGreaterThan(0);
  });

  it('finds every address of a 1 MB run of back-to-back addresses', () => {
    const count = Math.floor(megabyte / 'a@b.co 555-123-4567 '.length);
    const result = redactPii('a@b.co 555-123-4567 '.repeat(count));
    expect(result).toEqual({ text: '[email] [phone] '.repeat(count), emails: count, phones: count });
  });
});
