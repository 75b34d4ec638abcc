using System.Globalization;
using ScottPlot;

// Draws bench/growth.png from the CSV files the growth benchmark wrote (bench/growth.sh):
//   uid2-growth-plot OUT.png results-sqlite.csv [results-postgres.csv …]
// Left: seconds until the operator is healthy (reading every opt-out from the store, or from its snapshot) and its
// resident memory; right: generate and refresh throughput. X: opt-outs in the store (0, 1 M, 10 M, 100 M).
if (args.Length < 2)
{
    Console.Error.WriteLine("usage: uid2-growth-plot OUT.png RESULTS.csv [RESULTS.csv …]");
    return 2;
}

var rows = args.Skip(1).SelectMany(File.ReadAllLines).Where(l => l.Length > 0 && !l.StartsWith("provider,", StringComparison.Ordinal))
    .Select(l => l.Split(',')).ToList();
double? Num(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null;
double Kb(string s) => double.TryParse(s.Replace("kB", "").Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v / 1024 / 1024 : double.NaN;

var counts = rows.Select(r => long.Parse(r[1], CultureInfo.InvariantCulture)).Distinct().Order().ToArray();
double X(long count) => Array.IndexOf(counts, count);
string Label(long count) => count switch
{
    0 => "0",
    >= 1_000_000 => $"{count / 1_000_000:N0} M",
    _ => $"{count:N0}",
};
var ticks = counts.Select(c => new Tick(X(c), Label(c))).ToArray();

var multiplot = new Multiplot();
multiplot.AddPlots(2);
multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
var startup = multiplot.GetPlot(0);
var load = multiplot.GetPlot(1);

foreach (var provider in rows.Select(r => r[0]).Distinct())
{
    var mine = rows.Where(r => r[0] == provider).OrderBy(r => long.Parse(r[1], CultureInfo.InvariantCulture)).ToList();
    double[] Xs(IEnumerable<string[]> subset) => subset.Select(r => X(long.Parse(r[1], CultureInfo.InvariantCulture))).ToArray();

    var fromStore = mine.Where(r => Num(r[3]) is not null).ToList();
    if (fromStore.Count > 0)
        startup.Add.Scatter(Xs(fromStore), fromStore.Select(r => Num(r[3])!.Value).ToArray()).LegendText = $"{provider}: healthy after (s), reading the store";
    startup.Add.Scatter(Xs(mine), mine.Select(r => Num(r[6])!.Value).ToArray()).LegendText = $"{provider}: healthy after (s), from the snapshot";
    var rss = startup.Add.Scatter(Xs(mine), mine.Select(r => Kb(r[12])).ToArray());
    rss.LegendText = $"{provider}: RSS after load (GiB, right)";
    rss.LinePattern = LinePattern.Dashed;
    rss.Axes.YAxis = startup.Axes.Right;

    load.Add.Scatter(Xs(mine), mine.Select(r => Num(r[8])!.Value).ToArray()).LegendText = $"{provider}: /v2/token/generate req/s";
    load.Add.Scatter(Xs(mine), mine.Select(r => Num(r[10])!.Value).ToArray()).LegendText = $"{provider}: /v2/token/refresh req/s";
}

startup.Title("Start-up and memory");
startup.Axes.Left.Label.Text = "seconds until healthy";
startup.Axes.Right.Label.Text = "GiB resident";
load.Title("Throughput (16 clients, 2-core VM)");
load.Axes.Left.Label.Text = "requests per second";
foreach (var plot in new[] { startup, load })
{
    plot.Axes.Bottom.Label.Text = "opt-outs in the store";
    plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
    plot.Axes.SetLimitsX(-0.3, counts.Length - 0.7);
    plot.Axes.Left.Min = 0;
    plot.ShowLegend(Alignment.UpperLeft);
}
startup.Axes.AutoScale();
load.Axes.AutoScale();
startup.Axes.SetLimitsY(0, startup.Axes.GetLimits().Top * 1.3);
startup.Axes.SetLimitsY(0, startup.Axes.GetLimits(startup.Axes.Bottom, startup.Axes.Right).Top * 1.3, startup.Axes.Right);
load.Axes.SetLimitsY(0, load.Axes.GetLimits().Top * 1.4);
multiplot.SavePng(args[0], 1400, 560);
Console.WriteLine($"wrote {args[0]}");
return 0;
