package io.inctrl.serve.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.inctrl.serve.model.BundleException;
import io.inctrl.serve.model.BundleManifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Design rules that keep the fixed defects fixed: every device pass is a batcher job; dependencies point inward. */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importMain() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.inctrl.serve");
    }

    @Test
    void only_the_batcher_and_the_model_core_touch_an_engine() {
        noClasses()
                .that()
                .resideOutsideOfPackages("..serve.model..", "..serve.inference..")
                .should()
                .dependOnClassesThat()
                .haveFullyQualifiedName("io.inctrl.serve.model.InctrlEngine")
                .because("a forward pass outside the batcher escapes its queueing, fairness and limits")
                .check(classes);
    }

    @Test
    void only_the_batcher_takes_the_replicas() {
        noClasses()
                .that()
                .resideOutsideOfPackage("..serve.inference..")
                .should()
                .callMethod("io.inctrl.serve.model.ModelService", "replicas")
                .check(classes);
    }

    @Test
    void packages_form_no_cycles() {
        slices().matching("io.inctrl.serve.(**)").should().beFreeOfCycles().check(classes);
    }

    @Test
    void the_model_core_and_the_batcher_library_know_no_transport() {
        noClasses()
                .that()
                .resideInAnyPackage("..serve.model..", "..serve.image..", "..serve.text..", "..serve.batching..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.grpc..", "jakarta.ws.rs..", "..serve.api..")
                .check(classes);
    }

    @Test
    void the_model_repository_verifies_bundles_and_loads_nothing() {
        noClasses()
                .that()
                .resideInAPackage("..serve.models.repository..")
                .should()
                .dependOnClassesThat(resideInAnyPackage(
                                "ai.djl..", "..serve.inference..", "..serve.api..", "io.grpc..", "jakarta.ws.rs..")
                        .or(resideInAPackage("..serve.model..")
                                .and(not(belongToAnyOf(BundleManifest.class, BundleException.class)))))
                .because("the repository hands out verified directories; loading them is the model manager's job")
                .check(classes);
    }
}
