using System.Security.Cryptography;
using System.Text;
using Uid2.Core.Identity;
using Uid2.Core.Normalization;

namespace Uid2.Core.Tests.Normalization;

public class EmailNormalizerTests
{
    // uid2-operator src/test/java/com/uid2/operator/InputNormalizationTest.java, testValidEmailNormalization (literal rows,
    // numbered because the reference table repeats some rows verbatim).
    public static TheoryData<int, string, string, string> OperatorValidRows => new()
    {
        { 1, "TEst.TEST@Test.com ", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M=" },
        { 2, "test.test@test.com", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M=" },
        { 3, "test.test@gmail.com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 4, "test+test@test.com", "test+test@test.com", "rQ4yzdOz4uG8N54326QyZD6/JwqrXn4lmy34cVCojB8=" },
        { 5, "+test@test.com", "+test@test.com", "weFizOVVWKlLfyorbBU8oxYDv4HJtTZCPMyZ4THzUQE=" },
        { 6, "test+test@gmail.com", "test@gmail.com", "h5JGBrQTGorO7q6IaFMfu5cSqqB6XTp1aybOD11spnQ=" },
        { 7, "testtest@test.com", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg=" },
        { 8, " testtest@test.com", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg=" },
        { 9, "testtest@test.com ", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg=" },
        { 10, " testtest@test.com ", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg=" },
        { 11, "  testtest@test.com  ", "testtest@test.com", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg=" },
        { 12, " test.test@gmail.com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 13, "test.test@gmail.com ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 14, " test.test@gmail.com ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 15, "  test.test@gmail.com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 16, "TEstTEst@gmail.com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 17, "TEstTEst@GMail.Com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 18, " TEstTEst@GMail.Com  ", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 19, "TEstTEst@GMail.Com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 20, "TEst.TEst@GMail.Com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 21, "TEst.TEst+123@GMail.Com", "testtest@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=" },
        { 22, "TEst.TEST@Test.com ", "test.test@test.com", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M=" },
        { 23, "\uD83D\uDE0Atesttest@test.com", "\uD83D\uDE0Atesttest@test.com", "fAFEUqApQ0V/M9mLj/IO54CgKgtQuARKsOMqtFklD4k=" },
        { 24, "testtest@\uD83D\uDE0Atest.com", "testtest@\uD83D\uDE0Atest.com", "tcng5pttf7Y2z4ylZTROvIMw1+IVrMpR4D1KeXSrdiM=" },
        { 25, "testtest@test.com\uD83D\uDE0A", "testtest@test.com\uD83D\uDE0A", "0qI21FPLkuez/8RswfmircHPYz9Dtf7/Nch1rSWEQf0=" },
    };

    [Theory]
    [MemberData(nameof(OperatorValidRows))]
    public void Operator_valid_rows_normalize_and_hash(int row, string input, string expectedNormalized, string expectedHash)
    {
        Assert.InRange(row, 1, 25);
        Assert.True(EmailNormalizer.TryNormalize(input, out var normalized));
        Assert.Equal(expectedNormalized, normalized);
        Assert.Equal(expectedHash, Convert.ToBase64String(IdentityHasher.HashDii(normalized)));

        Assert.True(IdentityInputParser.TryParse(DiiKind.Email, input, out var parsed));
        Assert.Equal(IdentityType.Email, parsed.Type);
        Assert.Equal(expectedHash, parsed.DiiHashBase64);
    }

    // uid2-operator InputNormalizationTest.testInvalidEmailNormalization (literal list).
    [Theory]
    [InlineData("")]
    [InlineData(" @")]
    [InlineData("@")]
    [InlineData("a@")]
    [InlineData("@b")]
    [InlineData("@b.com")]
    [InlineData("+")]
    [InlineData(" ")]
    [InlineData("+@gmail.com")]
    [InlineData(".+@gmail.com")]
    [InlineData("a@ba@z.com")]
    public void Operator_invalid_rows_are_rejected(string input)
    {
        Assert.False(EmailNormalizer.TryNormalize(input, out var normalized));
        Assert.Equal(string.Empty, normalized);
        Assert.False(IdentityInputParser.TryParse(DiiKind.Email, input, out var parsed));
        Assert.Null(parsed.DiiHash);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("no-at-sign")]
    [InlineData("a@   ")]
    [InlineData("   @b.com")]
    [InlineData("a@b@")]
    [InlineData("..@gmail.com")]
    [InlineData("+abc@gmail.com")]
    public void More_invalid_inputs_are_rejected(string? input)
    {
        Assert.False(EmailNormalizer.TryNormalize(input, out _));
    }

    [Theory]
    // googlemail.com is NOT special in the reference operator code.
    [InlineData("Te.St+Ext@GoogleMail.com", "te.st+ext@googlemail.com")]
    // Every space before '@' is dropped (the reference never leaves its "Starting" state), not only leading ones.
    [InlineData("a b c@x.com", "abc@x.com")]
    // Domain: trailing spaces dropped, leading and inner spaces kept.
    [InlineData("a@ x .com  ", "a@ x .com")]
    // Only ASCII A-Z are lower-cased; other whitespace is kept.
    [InlineData("ÄB\t@X.com", "Äb\t@x.com")]
    // A domain that only looks like gmail.com after Unicode case folding is not special.
    [InlineData("a.b+c@gmaıl.com", "a.b+c@gmaıl.com")]
    [InlineData("a.b+c@ gmail.com", "a.b+c@ gmail.com")]
    [InlineData("a.b+c@gmail.com.", "a.b+c@gmail.com.")]
    // gmail: dots removed everywhere in the local part, '+' and everything after it dropped.
    [InlineData(" j.a.n.e + x.y@GMAIL.COM ", "jane@gmail.com")]
    [InlineData("a+b+c@gmail.com", "a@gmail.com")]
    [InlineData("a+b+c@x.com", "a+b+c@x.com")]
    public void Reference_edge_cases(string input, string expected)
    {
        Assert.True(EmailNormalizer.TryNormalize(input, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Fact]
    public void Already_normalized_input_is_returned_without_copy()
    {
        const string input = "already@normal.com";
        Assert.True(EmailNormalizer.TryNormalize(input, out var normalized));
        Assert.Same(input, normalized);
    }

    [Fact]
    public void Long_inputs_use_the_pooled_path()
    {
        var local = new string('A', 1000) + ".B";
        Assert.True(EmailNormalizer.TryNormalize("  " + local + "@GMail.com  ", out var normalized));
        Assert.Equal(new string('a', 1000) + "b@gmail.com", normalized);
    }

    [Fact]
    public void Span_overload_requires_a_large_enough_destination()
    {
        Span<char> small = stackalloc char[3];
        var ok = true;
        try { EmailNormalizer.TryNormalize("a@b.com".AsSpan(), small, out _); }
        catch (ArgumentException) { ok = false; }
        Assert.False(ok);

        Span<char> dest = stackalloc char[16];
        Assert.True(EmailNormalizer.TryNormalize(" A@B.com ".AsSpan(), dest, out var written));
        Assert.Equal("a@b.com", dest[..written].ToString());
    }

    // uid2docs docs/getting-started/gs-normalization-encoding.md
    [Theory]
    [InlineData("user@example.com", "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=")]
    [InlineData("USER@Example.com ", "tMmiiTI7IaAcPpQPFQ65uMVCWH8av9jw4cwf/F5HVRQ=")]
    [InlineData("janesaoirse@gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=")]
    [InlineData("Jane.Saoirse+Newsletter@Gmail.com", "ku4mBX7Z3qJTXWyLFB1INzkyR2WZGW4ANSJUiW21iI8=")]
    public void Uid2docs_email_vectors(string input, string expectedHash)
    {
        Assert.True(IdentityInputParser.TryParse(DiiKind.Email, input, out var parsed));
        Assert.Equal(expectedHash, parsed.DiiHashBase64);
    }

    [Fact]
    public void Unpaired_surrogate_is_hashed_like_java_getBytes()
    {
        // Java's String.getBytes() replaces an unpaired surrogate with '?'.
        Assert.True(IdentityInputParser.TryParse(DiiKind.Email, "a\uD800@x.com", out var parsed));
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes("a?@x.com")), parsed.DiiHash);
    }
}
