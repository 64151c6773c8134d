using TalosImage.Core.Orders.Schema;

// talos-schemagen [--check] [REPO_ROOT]: writes schemas/talos-config.schema.json, schemas/talos-orders.schema.json and the
// key tables of docs/CONFIGURATION.md from InputSchema. --check writes nothing and exits 1 when a file is out of date.
var check = args.Contains("--check");
var root = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? FindRoot(Environment.CurrentDirectory) ?? FindRoot(AppContext.BaseDirectory);
if (root is null || !File.Exists(Path.Combine(root, "TalosImage.sln")))
{
    Console.Error.WriteLine("talos-schemagen: run it in the repository (no TalosImage.sln found), or give the repository folder");
    return 2;
}

var docsPath = Path.Combine(root, "docs", "CONFIGURATION.md");
var outputs = new List<(string Path, string Text)>
{
    (Path.Combine(root, "schemas", JsonSchemaWriter.ConfigFileName), JsonSchemaWriter.Config()),
    (Path.Combine(root, "schemas", JsonSchemaWriter.OrdersFileName), JsonSchemaWriter.Orders()),
    (docsPath, SchemaDocs.Apply(File.ReadAllText(docsPath))),
};

var stale = 0;
foreach (var (path, text) in outputs)
{
    var current = File.Exists(path) ? File.ReadAllText(path) : null;
    var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
    if (current == text)
    {
        Console.WriteLine($"{relative}: current");
        continue;
    }
    stale++;
    if (check)
    {
        Console.WriteLine($"{relative}: out of date");
        continue;
    }
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    File.WriteAllText(path, text);
    Console.WriteLine($"{relative}: written");
}
return check && stale > 0 ? 1 : 0;

static string? FindRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "TalosImage.sln")))
        {
            return dir.FullName;
        }
    }
    return null;
}
