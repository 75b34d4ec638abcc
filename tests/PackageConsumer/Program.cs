// A DSP's console app that knows Uid2.Client only as an installed NuGet package. Not part of the solution:
// tests/Uid2.Operator.Tests/PackageInstallTests.cs copies it into fresh net8.0 and net10.0 projects outside the
// repository, installs the package there and runs it against a real operator.
//
// Arguments: operator base URL, the DSP's API key and client secret, an advertising token.
// Prints what it decrypted, one "name=value" a line; exit code 0 only if both decrypt paths succeeded.
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Uid2.Client;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: PackageConsumer <operator url> <api key> <client secret> <advertising token>");
    return 64;
}
var (baseUrl, apiKey, clientSecret, token) = (new Uri(args[0]), args[1], args[2], args[3]);

var bidder = new BidstreamClient(baseUrl, apiKey, clientSecret);
var keys = await bidder.RefreshAsync();
if (!keys.Success)
{
    Console.Error.WriteLine($"key refresh failed: {keys.Reason}");
    return 1;
}

var seen = bidder.Decrypt(token, DateTimeOffset.UtcNow);
var buffer = new char[BidstreamClient.UidChars];
var fast = bidder.Decrypt(token.AsSpan(), DateTimeOffset.UtcNow, buffer, out var length);

Console.WriteLine($"status={seen.Status}");
Console.WriteLine($"uid={seen.Uid}");
Console.WriteLine($"span_status={fast.Status}");
Console.WriteLine($"span_uid={new string(buffer, 0, length)}");
Console.WriteLine($"site_id={seen.SiteId}");
Console.WriteLine($"token_version={seen.AdvertisingTokenVersion}");
// Which build of the package NuGet picked for this app (lib/net8.0 or lib/net10.0), and the runtime it runs on.
Console.WriteLine($"sdk_target={typeof(BidstreamClient).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName}");
Console.WriteLine($"core_target={typeof(Uid2.Core.Keys.EncryptionKey).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()?.FrameworkName}");
Console.WriteLine($"runtime={RuntimeInformation.FrameworkDescription}");
return seen.Success && fast.Success ? 0 : 2;
