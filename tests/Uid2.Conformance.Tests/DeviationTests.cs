using System.Text;
using System.Text.Json;

namespace Uid2.Conformance.Tests;

/// <summary>
/// Where this operator deliberately differs from the reference (README, "Deviations from the reference operator"):
/// each test names the reference test or code whose behaviour it replaces, and asserts ours.
/// </summary>
public sealed class DeviationTests(ConformanceOperator op) : IClassFixture<ConformanceOperator>
{
    [Fact]
    public async Task UIDOperatorVerticleTest_tokenGenerateThenValidateWithEmail_Match_nonTestIdentity_isFalse()
    {
        var token = (await op.GenerateAsync("email", "someone@uid2.com")).GetProperty("advertising_token").GetString();
        var answer = await op.PostV2Async("/v2/token/validate", op.Publisher, JsonSerializer.Serialize(new { token, email = "someone@uid2.com" }));
        Assert.Equal(200, answer.Status);
        Assert.False(answer.Body_.GetBoolean()); // the reference answers true: no identity oracle here
    }

    [Fact]
    public async Task V2RequestUtilTest_replayedEnvelope_isRefused() // the reference accepts a replay
    {
        var json = Encoding.UTF8.GetBytes("{\"email\":[\"replay@uid2.com\"]}");
        var (first, _, envelope) = await op.Host.PostV2RawAsync("/v2/identity/map", op.Mapper, json);
        Assert.Equal(200, first);
        var (second, reply, _) = await op.Host.PostV2RawAsync("/v2/identity/map", op.Mapper, null, envelope);
        Assert.Equal(400, second);
        Assert.Equal("client_error", reply.GetProperty("status").GetString());
        Assert.Equal("Duplicate request: this request was already received", reply.GetProperty("message").GetString());
    }

    [Fact]
    public async Task UIDOperatorVerticleTest_optOutStatusValidationError_notAnArray_isClientError() // the reference throws (500)
    {
        var answer = await op.PostV2Async("/v2/optout/status", op.Mapper, "{\"advertising_ids\":\"abc\"}");
        Assert.Equal(400, answer.Status);
        Assert.Equal("client_error", answer.ProtocolStatus);
    }

    [Fact]
    public async Task UIDOperatorVerticleTest_logoutV2_invalidIdentity_messageHasNoInternalState()
    {
        var answer = await op.PostV2Async("/v2/token/logout", op.OptOut, "{\"email\":\"bogus\"}");
        Assert.Equal(400, answer.Status);
        Assert.Equal("invalid_token", answer.ProtocolStatus);
        Assert.Equal("Invalid Token presented", answer.Message);
    }
}
