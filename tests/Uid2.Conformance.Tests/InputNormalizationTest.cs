namespace Uid2.Conformance.Tests;

/// <summary>
/// IABTechLab/uid2-operator <c>InputNormalizationTest.java</c>, over HTTP: an email maps to the same raw UID2 as the
/// reference's expected hash of its normalized form; invalid inputs are unmapped as "invalid identifier".
/// </summary>
public sealed class InputNormalizationTest(ConformanceOperator op) : IClassFixture<ConformanceOperator>
{
    private async Task<System.Text.Json.JsonElement> MapAsync(string field, string value)
    {
        var answer = await op.PostV2Async("/v2/identity/map", op.Mapper, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string[]> { [field] = [value] }));
        Assert.Equal(200, answer.Status);
        return answer.Body_;
    }

    [Theory]
    [InlineData("TEst.TEST@Test.com ", "dvECjPKZHya0/SIhSGwP0m8SgTv1vzLxPULUOsm880M=")]
    [InlineData("test.test@gmail.com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=")]
    [InlineData("test+test@test.com", "rQ4yzdOz4uG8N54326QyZD6/JwqrXn4lmy34cVCojB8=")]
    [InlineData("+test@test.com", "weFizOVVWKlLfyorbBU8oxYDv4HJtTZCPMyZ4THzUQE=")]
    [InlineData("test+test@gmail.com", "h5JGBrQTGorO7q6IaFMfu5cSqqB6XTp1aybOD11spnQ=")]
    [InlineData("  testtest@test.com  ", "d1Lr/s4GLLX3SvQVMoQdIMfbQPMAGZYry+2V+0pZlQg=")]
    [InlineData(" TEstTEst@GMail.Com  ", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=")]
    [InlineData("TEst.TEst+123@GMail.Com", "LkLfFrut8Tc3h/fIvYDiBKSbaMiau/DtaLBPQYszdMw=")]
    [InlineData("\uD83D\uDE0Atesttest@test.com", "fAFEUqApQ0V/M9mLj/IO54CgKgtQuARKsOMqtFklD4k=")]
    [InlineData("testtest@\uD83D\uDE0Atest.com", "tcng5pttf7Y2z4ylZTROvIMw1+IVrMpR4D1KeXSrdiM=")]
    [InlineData("testtest@test.com\uD83D\uDE0A", "0qI21FPLkuez/8RswfmircHPYz9Dtf7/Nch1rSWEQf0=")]
    public async Task testValidEmailNormalization(string email, string expectedHash)
    {
        var byEmail = (await MapAsync("email", email)).GetProperty("mapped")[0];
        Assert.Equal(email, byEmail.GetProperty("identifier").GetString());
        var byHash = (await MapAsync("email_hash", expectedHash)).GetProperty("mapped")[0];
        Assert.Equal(byHash.GetProperty("advertising_id").GetString(), byEmail.GetProperty("advertising_id").GetString());
    }

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
    public async Task testInvalidEmailNormalization(string email) => await AssertInvalidAsync("email", email);

    [Theory]
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs=")]
    [InlineData("0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    [InlineData("0c7e6a405862e402eb76a70f8a26fc732d07c32931e9fae9ab1582911d2e8a3b")]
    public async Task testValidHashNormalization(string hash)
    {
        var master = (await MapAsync("email_hash", "DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs=")).GetProperty("mapped")[0];
        var mapped = (await MapAsync("email_hash", hash)).GetProperty("mapped")[0];
        Assert.Equal(hash, mapped.GetProperty("identifier").GetString());
        Assert.Equal(master.GetProperty("advertising_id").GetString(), mapped.GetProperty("advertising_id").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("asdaksjdakfj")]
    [InlineData("DH5qQFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("QFhi5ALrdqcPiib8cy0Hwykx6frpqxWCkR0uijs")]
    [InlineData("0Z7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    [InlineData("0C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B00")]
    [InlineData("000C7E6A405862E402EB76A70F8A26FC732D07C32931E9FAE9AB1582911D2E8A3B")]
    public async Task testInvalidHashNormalization(string hash) => await AssertInvalidAsync("email_hash", hash);

    [Theory]
    [InlineData("")]
    [InlineData("asdaksjdakfj")]
    [InlineData("+")]
    [InlineData("12345678")]
    [InlineData("1234567890")]
    [InlineData("+123456789")]
    [InlineData("+ 1234 56789")]
    [InlineData("+1234567890123456")]
    [InlineData("+1234567890A")]
    [InlineData("+1234567890 ")]
    [InlineData("+12345+67890")]
    [InlineData("555-555-5555")]
    [InlineData("(555) 555-5555")]
    public async Task testPhoneNumberIsNormalizedNegative(string phone) => await AssertInvalidAsync("phone", phone);

    [Theory]
    [InlineData("+1234567890")]
    [InlineData("+12345678901")]
    [InlineData("+123456789012345")]
    public async Task testPhoneNumberIsNormalizedPositive(string phone) =>
        Assert.Equal(phone, (await MapAsync("phone", phone)).GetProperty("mapped")[0].GetProperty("identifier").GetString());

    private async Task AssertInvalidAsync(string field, string value)
    {
        var body = await MapAsync(field, value);
        Assert.Equal(0, body.GetProperty("mapped").GetArrayLength());
        Assert.Equal("invalid identifier", body.GetProperty("unmapped")[0].GetProperty("reason").GetString());
    }
}
