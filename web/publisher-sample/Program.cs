using Uid2.PublisherSample;

var app = SampleApp.Build(args);
await app.RunAsync();
