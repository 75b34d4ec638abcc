using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Uid2.Storage.Secrets;

namespace Uid2.Tests.Shared;

/// <summary>
/// Every store a test opens (and every operator or CLI process it starts, which inherit the environment) seals its
/// secrets with one test key-encryption key, unless the environment already names one: PostgreSQL has no default key,
/// and processes sharing a database must share its key. Tests of the KEK rules pass their own keys explicitly.
/// </summary>
internal static class TestKeyEncryptionKey
{
    [ModuleInitializer]
    internal static void Configure()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KeyEncryptionKeys.FileVariable))
            || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(KeyEncryptionKeys.InlineVariable)))
            return;
        var path = Path.Combine(Path.GetTempPath(), "uid2-tests.kek");
        if (!File.Exists(path))
            KeyEncryptionKeys.WriteKeyFile(path, [(KeyEncryptionKeyRing.NewId(), RandomNumberGenerator.GetBytes(32))], createOnly: true);
        Environment.SetEnvironmentVariable(KeyEncryptionKeys.FileVariable, path);
    }
}
