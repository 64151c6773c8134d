namespace TalosImage.HelpGen;

/// <summary>
/// talos-helpgen CMDLETS_DLL MARKDOWN_FOLDER OUT_FOLDER: writes OUT_FOLDER/TalosImage.Cmdlets.dll-Help.xml and copies
/// the about_*.help.txt topics. Problems (missing help) are printed as warnings; the exit code stays 0 so that a build
/// goes on, and the module contract checks fail on them instead.
/// talos-helpgen --update-docs [MARKDOWN_FOLDER]: rewrites the pages' ERRORS lists from the ErrorId catalogue
/// (TalosErrors); --check-docs [MARKDOWN_FOLDER] only says which are not current (exit 1). The folder defaults to the
/// docs/help of the repository around the current directory.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length is 1 or 2 && args[0] is "--update-docs" or "--check-docs")
        {
            return Docs(args[0] == "--update-docs", args.Length == 2 ? args[1] : FindDocs());
        }
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: talos-helpgen CMDLETS_DLL MARKDOWN_FOLDER OUT_FOLDER | --update-docs [MARKDOWN_FOLDER] | --check-docs [MARKDOWN_FOLDER]");
            return 2;
        }
        var (dll, markdown, outFolder) = (args[0], args[1], args[2]);
        using var metadata = new CmdletMetadata(dll);
        var result = HelpGenerator.Generate(metadata.Cmdlets, markdown);
        Directory.CreateDirectory(outFolder);
        result.Maml.Save(Path.Combine(outFolder, Path.GetFileName(dll) + "-Help.xml"));
        foreach (var topic in Directory.GetFiles(markdown, "about_*.help.txt"))
        {
            File.Copy(topic, Path.Combine(outFolder, Path.GetFileName(topic)), overwrite: true);
        }
        foreach (var problem in result.Problems)
        {
            Console.Error.WriteLine("help is incomplete: " + problem);
        }
        return 0;
    }

    private static int Docs(bool update, string? folder)
    {
        if (folder is null || !Directory.Exists(folder))
        {
            Console.Error.WriteLine("talos-helpgen: no docs/help folder found; give it as the second argument");
            return 2;
        }
        if (update)
        {
            foreach (var file in ErrorsSection.UpdateFolder(folder))
            {
                Console.WriteLine("updated " + file);
            }
            return 0;
        }
        var stale = ErrorsSection.Stale(folder);
        foreach (var file in stale)
        {
            Console.Error.WriteLine($"{file}: its ERRORS list is not the catalogue's; run talos-helpgen --update-docs");
        }
        return stale.Count == 0 ? 0 : 1;
    }

    private static string? FindDocs()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "docs", "help");
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "TalosImage.sln")))
            {
                return candidate;
            }
        }
        return null;
    }
}
