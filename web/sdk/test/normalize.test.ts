import { describe, expect, it } from 'vitest';
import { isBase64Hash } from '../src/base64';
import { hashAndEncodeIdentifier, hashEmail, hashPhone, isNormalizedPhone, normalizeEmail } from '../src/normalize';
import { VERSION } from '../src/version';
import pkg from '../package.json';

describe('email normalization (operator rules, protocol §4.1)', () => {
  it.each([
    ['TEst.TEST@Test.com ', 'test.test@test.com'],
    ['test.test@test.com', 'test.test@test.com'],
    ['test.test@gmail.com', 'testtest@gmail.com'],
    ['test+test@test.com', 'test+test@test.com'],
    ['+test@test.com', '+test@test.com'],
    ['test+test@gmail.com', 'test@gmail.com'],
    ['a.b.c+x@gmail.com', 'abc@gmail.com'],
    ['  testtest@test.com  ', 'testtest@test.com'],
    ['TEst.TEst+123@GMail.Com', 'testtest@gmail.com'],
    ['TEstTEst@GMail.Com  ', 'testtest@gmail.com'],
    ['Te.St+Ext@GoogleMail.com', 'te.st+ext@googlemail.com'],
    ['a b c@x.com', 'abc@x.com'],
    ['a@ x .com  ', 'a@ x .com'],
    ['ÄB\t@X.com', 'Äb\t@x.com'],
    ['a.b+c@ gmail.com', 'a.b+c@ gmail.com'],
    ['a.b+c@gmail.com.', 'a.b+c@gmail.com.'],
    [' j.a.n.e + x.y@GMAIL.COM ', 'jane@gmail.com'],
    ['a+b+c@gmail.com', 'a@gmail.com'],
    ['\u{1F60A}testtest@test.com', '\u{1F60A}testtest@test.com'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it.each(['', ' ', '+', '@', ' @', 'a@', '@b', '@b.com', '+@gmail.com', '.+@gmail.com', '..@gmail.com', '+abc@gmail.com',
    'a@ba@z.com', 'a@b@', 'a@   ', '   @b.com', 'no-at-sign'])('%j is invalid', (input) => {
    expect(normalizeEmail(input)).toBeUndefined();
  });

  it.each([
    ['user@example.com', 'tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ='],
    ['test.test@gmail.com', 'LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw='],
    ['TEst.TEST@Test.com ', 'dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M='],
    ['test+test@gmail.com', 'h5JGBrQTGorO7q6IaFMfu5cSqqB6XTp1aybOD11spnQ='],
    ['janesaoirse@gmail.com', 'ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8='],
    ['\u{1F60A}testtest@test.com', 'fAFEUqApQ0V/M9mLj/IO54CgKgtQuARKsOMqtFklD4k='],
  ])('hashEmail(%j) = %s', async (input, hash) => {
    expect(await hashEmail(input)).toBe(hash);
  });

  it('hashEmail rejects invalid addresses', async () => {
    await expect(hashEmail('a@ba@z.com')).rejects.toThrow('Invalid email address');
  });
});

describe('phone', () => {
  it.each(['+12345678901', '+1234567890', '+123456789012345'])('%s is valid', (p) => {
    expect(isNormalizedPhone(p)).toBe(true);
  });

  it.each(['12345678901', '+123456789', '+1234567890123456', '+1 2345678901', '+1234567890a', '', '+１２３４５６７８９０'])(
    '%j is invalid',
    (p) => {
      expect(isNormalizedPhone(p)).toBe(false);
    },
  );

  it('hashes E.164 numbers', async () => {
    expect(await hashPhone('+12345678901')).toBe('EObwtHBUqDNZR33LNSMdtt5cafsYFuGmuY4ZLenlue4=');
    await expect(hashPhone('12345678901')).rejects.toThrow('Invalid phone number');
  });
});

describe('hash helpers', () => {
  it('hashAndEncodeIdentifier is base64 SHA-256 of UTF-8', async () => {
    expect(await hashAndEncodeIdentifier('user@example.com')).toBe('tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=');
  });

  it('isBase64Hash accepts 44-char base64 of 32 bytes only', () => {
    expect(isBase64Hash('tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=')).toBe(true);
    expect(isBase64Hash('tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ')).toBe(false);
    expect(isBase64Hash('tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf_F5HVRQ=')).toBe(false);
    expect(isBase64Hash('b4c8e3a23...')).toBe(false);
    expect(isBase64Hash('b4c8a2293b21a01c3e940f150eb9b8c550587f1abfd8f0e1cc1ffc5e475514'.slice(0, 44))).toBe(false);
  });

  it('VERSION comes from package.json', () => {
    expect(VERSION).toBe(pkg.version);
  });
});
