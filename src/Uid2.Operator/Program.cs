using Uid2.Operator;

var app = OperatorApp.Build(args);
await OperatorApp.InitializeAsync(app);
await app.RunAsync();
